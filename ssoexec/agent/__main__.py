"""`python -m ssoexec.agent SOCKET`: the agent process (see server.py)."""

import sys

from ssoexec.agent.server import main

sys.exit(main(sys.argv[1:]))
