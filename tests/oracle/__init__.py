"""A deliberately naive interpreter of the `.tlb` language, used as a test oracle.

It reads the checked AST (`CheckedSpec`) only, never the Program or the System,
and implements `docs/language.md` directly.  See `machine.py` for
the readings chosen where the reference is silent.
"""

from .explore import OracleResult, run_oracle

__all__ = ["OracleResult", "run_oracle"]
