"""Pure statistical engine of the registry: numpy and pandas only, no Django import.

Entry points: ``analyze(patients, adverse_events, plan) -> dict`` (the result bundle of
analysis-contract.md) and ``cli.main(argv, stdout, stderr) -> int`` (the command line).
"""

__version__ = "1.1.0"

from .bundle import analyze  # noqa: E402
from .validation import EngineInputError  # noqa: E402

__all__ = ["EngineInputError", "__version__", "analyze"]
