"""SYNTHETIC multiparametric tongue-MRI cohort generator.

No real OTSCC data ships with this project. Every patient produced here is a numerical phantom: CE-T1,
T2 and T1 volumes of the oral cavity with a ground-truth tumor mask on the CE-T1 grid, plus clinical
variables and a nodal-metastasis outcome drawn from a documented latent model (see ``docs/cohort.md``).
"""

from training.synth.cohort import SyntheticPatient, generate_patient, write_cohort

__all__ = ["SyntheticPatient", "generate_patient", "write_cohort"]
