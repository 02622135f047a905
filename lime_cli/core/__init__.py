"""The core: what every LIME explanation does, whatever the kind of input.

- :mod:`.frontend`: the seam a kind of input plugs into (:class:`FrontEnd`);
- :mod:`.engine`: the pipeline (samples, one model call per chunk, kernel
  weights, batched surrogates, packaging) and the run over chunks;
- :mod:`.model`: the model, inspected once and called through a checked door;
- :mod:`.surrogate`, :mod:`.kernel`: the weighted linear surrogates;
- :mod:`.streams`: every random stream, from the seed and the instance's content;
- :mod:`.parallel`, :mod:`.memory`: workers, Dask, and chunks sized by memory.

No module here knows columns, pandas, typer or rich (a test checks it).
"""

from .frontend import FrontEnd, Instances, Samples, euclidean_to_instance

__all__ = ["FrontEnd", "Instances", "Samples", "euclidean_to_instance"]
