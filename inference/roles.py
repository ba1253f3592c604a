"""Assign the CE-T1 / T2 / T1 roles to image files or DICOM series, always with a stated reason.

Two evidence sources: file names (``cet1.nii.gz``, ``T1_Gd.nrrd``, ...) for file folders, and DICOM
headers for series (description/protocol text, contrast-agent tag, TR/TE). A role with several equally
good candidates is an error that lists them: we never guess silently. Reasons and messages name series by
number and say what the header text implies, never quote it (it may hold identifiers; docs/privacy.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from inference.errors import AmbiguousSequenceError, MissingSequenceError

ROLES = ("cet1", "t2", "t1")
ROLE_LABELS = {"cet1": "CE-T1", "t2": "T2", "t1": "T1"}

# File-name aliases, compared after lower-casing and removing separators (-, _, space, dot).
NAME_ALIASES: dict[str, tuple[str, ...]] = {
    "cet1": ("cet1", "cet1w", "cet1wi", "t1c", "t1ce", "t1gd", "t1cgd", "t1post", "t1contrast", "t1plusc",
             "t1+c", "t1wce", "t1wic", "t1wgd", "t1fsgd", "t1cfs", "t1gdfs", "postt1", "t1wpost"),
    "t2": ("t2", "t2w", "t2wi", "t2tse", "t2fse", "t2fs", "t2stir", "t2wfs"),
    "t1": ("t1", "t1w", "t1wi", "t1pre", "t1native", "t1tse", "t1fse", "pret1", "t1wpre"),
}
MASK_ALIASES = ("mask", "label", "labels", "seg", "segmentation", "gt", "tumor", "tumour", "roi")


def normalize_name(stem: str) -> str:
    """Lower-case and drop separators so ``T1_Gd``, ``t1-gd`` and ``t1 gd`` compare equal."""
    return re.sub(r"[\s_\-.]+", "", stem.lower())


def role_from_name(stem: str) -> str | None:
    """The role a file name stem denotes, ``"mask"`` for label files, or None."""
    key = normalize_name(stem)
    for role, aliases in NAME_ALIASES.items():
        if key in aliases:
            return role
    if key in MASK_ALIASES:
        return "mask"
    return None


@dataclass
class SeriesInfo:
    """What role assignment needs to know about one DICOM series (no patient identifiers)."""

    key: str  # SeriesInstanceUID
    label: str  # human-readable without header text, e.g. "series #3 (24 images)"
    description: str = ""
    protocol: str = ""
    sequence_name: str = ""
    image_type: tuple[str, ...] = ()
    modality: str = "MR"
    repetition_time: float | None = None
    echo_time: float | None = None
    contrast_agent: str | None = None
    n_images: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        # Underscores become spaces: Siemens-style names ("t1_vibe_fs_tra_post", "ep2d_diff_tra") would
        # otherwise hide every word from the \b-anchored patterns below ("_" is a word character).
        return " ".join([self.description, self.protocol, self.sequence_name]).lower().replace("_", " ")


@dataclass(frozen=True)
class RoleDecision:
    role: str
    key: str
    label: str
    reason: str


_EXCLUDE = [
    (re.compile(r"locali[sz]er|scout|survey|\bloc\b|3.?plane|tri.?pilot"), "localizer/scout"),
    (re.compile(r"\bdwi\b|\badc\b|diffusion|\bdiff\b|trace|\bb\d{2,4}\b|\bdti\b"), "diffusion"),
    (re.compile(r"perf|\bdce\b|dynamic|\bdyn\b|subtract|\bsub\b|\bmip\b"), "dynamic/subtraction/MIP"),
]
_T2_TEXT = re.compile(r"t2|stir|tirm|\bpd\b|hastes?\b")
_T1_TEXT = re.compile(r"t1|mprage|vibe|spgr|flash|bravo|lava|thrive|\bfspgr\b")
_CONTRAST_TEXT = re.compile(
    r"\+\s*c\b|\bc\s*\+|\+\s*gd|gad|\bgd\b|contrast|kontrast|\bce\b|t1c\b|t1ce|\bmdc\b|\bpost\b|\benh"
    r"|\bpost\s*gd\b|\bpost\s*c\b"  # Philips-style "T1W_TSE_postGd"
)
_PRECONTRAST_TEXT = re.compile(r"\bpre\b|native|nativ|\bw/?o\b|without|non.?contrast|\bnc\b|\bc\s*-(?!\w)")  # "T1 C-"
_NO_AGENT = {"", "none", "no", "n/a", "na", "0"}


def _excluded(info: SeriesInfo) -> str | None:
    if info.modality and info.modality.upper() != "MR":
        return f"modality {info.modality}, not MR"
    if "LOCALIZER" in {t.upper() for t in info.image_type}:
        return "ImageType LOCALIZER"
    for pattern, what in _EXCLUDE:
        if pattern.search(info.text):
            return f"{what} series"
    if info.n_images < 2:
        return "a single image (not a 3D stack)"
    return None


def _weighting(info: SeriesInfo) -> tuple[str | None, str]:
    """('t1'|'t2'|None, reason) from description text first, TR/TE second."""
    text_t2, text_t1 = bool(_T2_TEXT.search(info.text)), bool(_T1_TEXT.search(info.text))
    tr, te = info.repetition_time, info.echo_time
    by_times = None
    if tr is not None and te is not None:
        if tr < 1000 and te < 30:
            by_times = "t1"
        elif tr >= 1500 and te >= 60:
            by_times = "t2"
    times = f"TR {tr:g}/TE {te:g} ms" if tr is not None and te is not None else "no TR/TE"
    if text_t1 != text_t2:
        by_text = "t2" if text_t2 else "t1"
        note = f"description says {by_text.upper()}"
        if by_text == "t2" and not re.search(r"t2|stir|tirm|hastes?\b", info.text):  # only "PD" said it
            note = "description says PD (proton density, taken as the T2-like sequence)"
        if by_times and by_times != by_text:
            note += f" (but {times} looks {by_times.upper()}-weighted; description trusted)"
        elif by_times:
            note += f", {times} agrees"
        return by_text, note
    if by_times:
        return by_times, f"{times} is {by_times.upper()}-weighted (description silent)"
    return None, f"weighting unknown: no T1/T2 wording in the description, {times}"


def _contrast(info: SeriesInfo) -> tuple[bool, str]:
    agent = (info.contrast_agent or "").strip()
    has_tag = agent.lower() not in _NO_AGENT
    says_post = bool(_CONTRAST_TEXT.search(info.text))
    says_pre = bool(_PRECONTRAST_TEXT.search(info.text))
    if says_pre and not says_post:
        extra = " despite ContrastBolusAgent being set" if has_tag else ""
        return False, f"description says pre-contrast{extra}"
    if has_tag:
        return True, "ContrastBolusAgent set" + (" and description says post-contrast" if says_post else "")
    if says_post:
        return True, "description says post-contrast"
    return False, "no contrast agent tag or post-contrast wording"


def classify_series(info: SeriesInfo) -> tuple[str | None, str]:
    """Role for one series and why (role None when it is excluded or unclassifiable)."""
    excluded = _excluded(info)
    if excluded:
        return None, f"skipped: {excluded}"
    weighting, why_w = _weighting(info)
    if weighting is None:
        return None, why_w
    if weighting == "t2":
        return "t2", why_w
    contrast, why_c = _contrast(info)
    return ("cet1" if contrast else "t1"), f"{why_w}; {why_c}"


def assign_series_roles(
    series: list[SeriesInfo], fixed: dict[str, str] | None = None, *, skip: tuple[str, ...] = ()
) -> dict[str, RoleDecision]:
    """Assign every role to exactly one series.

    Args:
        series: the candidate series.
        fixed: role -> series key chosen by the user (overrides always win).
        skip: roles already supplied elsewhere (e.g. an override file or folder outside ``series``);
            they are neither assigned nor reported missing or ambiguous.

    Raises:
        AmbiguousSequenceError: several candidates for one role.
        MissingSequenceError: no candidate for a role.
    """
    fixed = fixed or {}
    by_key = {s.key: s for s in series}
    decisions: dict[str, RoleDecision] = {}
    for role, key in fixed.items():
        decisions[role] = RoleDecision(role, key, by_key[key].label, "chosen by the user (override)")
    taken = {d.key for d in decisions.values()}
    candidates: dict[str, list[tuple[SeriesInfo, str]]] = {r: [] for r in ROLES}
    verdicts = []
    for info in series:
        role, why = classify_series(info)
        verdicts.append(f"{info.label}: {ROLE_LABELS.get(role, 'no role')} ({why})")
        if role and info.key not in taken:
            candidates[role].append((info, why))
    for role in ROLES:
        if role in decisions or role in skip:
            continue
        found = candidates[role]
        if len(found) > 1:
            listing = "; ".join(f"{info.label} ({why})" for info, why in found)
            raise AmbiguousSequenceError(
                f"{len(found)} candidates for {ROLE_LABELS[role]}: {listing}.",
                candidates=[{"key": i.key, "label": i.label, "reason": w} for i, w in found],
                cli_hint=f"Choose one with --{role} (a path, SeriesInstanceUID or series number).",
                batch_hint=f"In a batch, leave one of them in the patient folder, or run the patient alone and choose "
                           f"with --{role}.",
            )
        if not found:
            raise MissingSequenceError(
                f"no {ROLE_LABELS[role]} series found. Series seen: " + "; ".join(verdicts) + ".",
                cli_hint=f"Name it with --{role}.",
                batch_hint=f"In a batch, run the patient alone and name it with --{role}.",
            )
        info, why = found[0]
        decisions[role] = RoleDecision(role, info.key, info.label, why)
    return decisions
