"""Neural networks: generic image-CNN layers (``layers``), the board's 8 symmetries
(``symmetry``), AlphaGo's SL policy network (``policy``), the model-file format
(``modelfile``) and what the hardware offers (``hardware``).

The names below load on first use (PEP 562), so that importing ``gopolicy.nn.hardware``
does not import torch: the GTP engine answers its first commands while torch loads.
"""
from __future__ import annotations

import importlib

_HOMES = {
    "layers": ["AvgPool2d", "BatchNorm2d", "Conv2d", "Dense", "Flatten", "GlobalPoolingBias", "Layer", "MaxPool2d",
               "PositionBias", "ReLU", "Residual", "Sequential", "Sigmoid", "Softmax", "Tanh", "conv_output_size",
               "fold_batch_norm", "folded_state_dict"],
    "modelfile": ["ModelFileError", "ModelInfo", "load_model", "save_model"],
    "policy": ["ARCHITECTURES", "PolicyNetwork", "folded_architecture", "masked_softmax"],
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = list(_HOME_OF)


def __getattr__(name: str):
    if name not in _HOME_OF:
        raise AttributeError(f"module 'gopolicy.nn' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gopolicy.nn.{_HOME_OF[name]}"), name)
