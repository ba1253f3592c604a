; Inno Setup 6 script: per-user Windows installer of the otscc-edge bundle (no administrator rights needed).
;
; Build (after `pyinstaller --noconfirm build.spec` made dist\otscc-edge\ on Windows):
;   iscc /DAppVersion=0.1.0 assets\packaging\otscc-edge.iss
; -> dist\otscc-edge-0.1.0-setup.exe. The CI workflow (.github/workflows/build.yml) does exactly this.
;
; Installs into %LOCALAPPDATA%\Programs\otscc-edge ({autopf} under PrivilegesRequired=lowest), with Start-menu
; entries for the viewer and for the self-test, an optional desktop icon and an optional PATH entry (current
; user only) for the `otscc` command line. Nothing is written outside the user's profile.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "otscc-edge"
#define Root "..\.."

[Setup]
AppId={{6B0E2F1C-7D4A-4C7B-9E55-0A3C1F2D8B61}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=otscc-edge project
AppComments=Offline OTSCC MRI tumor segmentation and nodal-risk prediction. Research software: the models were trained on SYNTHETIC data.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile=otscc-edge.ico
UninstallDisplayIcon={app}\otscc-gui.exe
UninstallDisplayName={#AppName} {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; GroupDescription: "Shortcuts:"; Flags: unchecked
Name: "addtopath"; Description: "Add the otscc command line to PATH (this user)"; GroupDescription: "Command line:"; Flags: unchecked

[Files]
Source: "{#Root}\dist\otscc-edge\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\otscc-gui.exe"; WorkingDir: "{userdocs}"
Name: "{autoprograms}\{#AppName} self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\otscc.exe"" self-test"; WorkingDir: "{userdocs}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\otscc-gui.exe"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\otscc-gui.exe"; Description: "Start {#AppName}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Current: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Current) then
    Result := True
  else
    Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Current) + ';') = 0;
end;
