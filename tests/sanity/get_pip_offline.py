"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads from a host this machine cannot
reach. It does the same job with what is at hand: pip from the standard library's ensurepip, then the pip
that ansible-test pinned (and anything else it asked for) from the package index.

tests/sanity.sh puts it where ansible-test looks for its cached copy, ~/.ansible/test/cache/get_pip_X_Y.py.
"""

import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

# In a child process: ensurepip points PIP_CONFIG_FILE at /dev/null in the environment of the process it
# runs in, which would hide the machine's pip configuration (index, CA bundle) from the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", *args]))
