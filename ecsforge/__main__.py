import sys

from .runtime import prepare

prepare()  # before any command imports aws_cdk

from .cli import main  # noqa: E402

sys.exit(main())
