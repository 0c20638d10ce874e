"""`python -m mlops_operator.scoring`: the scoring server without the operator's CLI."""

import sys

from .cli import main

sys.exit(main())
