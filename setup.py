# The version comes from git tags through pbr, as in OpenStack projects;
# everything else is declared in setup.cfg.
import setuptools

setuptools.setup(setup_requires=["pbr>=6.1.1"], pbr=True)
