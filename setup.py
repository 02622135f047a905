"""The compiled part: one optional C kernel (``lime_cli/image/_kernel.c``) that builds perturbed
images at about the speed of a plain copy.  Where it cannot be compiled (no C compiler), lime-cli
installs without it and builds them with numpy: the same values, more slowly."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("lime_cli.image._kernel", ["lime_cli/image/_kernel.c"], optional=True)])
