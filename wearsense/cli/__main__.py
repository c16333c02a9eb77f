import sys

from wearsense.cli.main import main

sys.exit(main())
