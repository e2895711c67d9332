import sys

from agentrt.runtime.process import main

sys.exit(main())
