# Tests of the metta_cpp module, run by ctest (python_tests) with PYTHONPATH=<build>/python, so they test
# the module that build folder built. Tests of a third-party client skip, naming it, when it is missing.
import pytest


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="torch is not installed in this venv (scripts/python-venv.sh installs it)")
