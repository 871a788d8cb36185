"""Stand-in for ansible-test's pip bootstrap script, whose host these machines cannot reach.

ansible-test runs it in an empty virtualenv with pip's install arguments
(``pip==X --no-setuptools --no-wheel``): pip comes from the interpreter's own
ensurepip, then the requested version from the package index.
"""
import subprocess
import sys

# In a child: ensurepip points PIP_CONFIG_FILE at /dev/null in its own process's environment,
# which would hide the index settings from the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet"] + ARGS))
