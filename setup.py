"""The compiled parts: two optional C kernels.  ``lime_cli/image/_kernel.c`` builds perturbed images
at about the speed of a plain copy; ``lime_cli/image/_segment.c`` runs scikit-image's SLIC (the same
labels) several times faster.  Where they cannot be compiled (no C compiler), lime-cli installs
without them and uses numpy's indexing and scikit-image's SLIC: the same results, more slowly."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("lime_cli.image._kernel", ["lime_cli/image/_kernel.c"], optional=True),
        Extension("lime_cli.image._segment", ["lime_cli/image/_segment.c"], optional=True),
    ]
)
