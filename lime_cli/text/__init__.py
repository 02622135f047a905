"""The text front-end: documents explained through their words.

- :class:`TextFrontEnd`: documents of a text column, split into words
  (:mod:`.tokens`), sampled by deleting words, handed to the model as strings
  or, for scikit-learn word vectorizers, as the exact document-term matrix
  (:mod:`.fast`);
- :class:`~lime_cli.TextExplainer` puts it together with the core.
"""

from .frontend import TEXT_KERNEL_WIDTH, TextFrontEnd
from .tokens import Tokenizer

__all__ = ["TEXT_KERNEL_WIDTH", "TextFrontEnd", "Tokenizer"]
