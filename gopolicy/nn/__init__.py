"""Neural networks: generic image-CNN layers (``layers``), the board's 8 symmetries
(``symmetry``), AlphaGo's SL policy network (``policy``) and the model-file format
(``modelfile``)."""
from gopolicy.nn.layers import (AvgPool2d, Conv2d, Dense, Flatten, Layer, MaxPool2d, PositionBias, ReLU,
                                Sequential, Sigmoid, Softmax, Tanh, conv_output_size)
from gopolicy.nn.modelfile import ModelFileError, ModelInfo, load_model, save_model
from gopolicy.nn.policy import PolicyNetwork, masked_softmax

__all__ = ["AvgPool2d", "Conv2d", "Dense", "Flatten", "Layer", "MaxPool2d", "PositionBias", "ReLU", "Sequential",
           "Sigmoid", "Softmax", "Tanh", "conv_output_size", "ModelFileError", "ModelInfo", "load_model",
           "save_model", "PolicyNetwork", "masked_softmax"]
