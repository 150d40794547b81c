import sys

from .jsii_kernel import use_direct_kernel

use_direct_kernel()  # before any command imports aws_cdk

from .cli import main  # noqa: E402

sys.exit(main())
