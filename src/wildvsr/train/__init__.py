"""Training: typed recipes, losses, EMA, checkpoints, DDP, the trainer loop and export.

>>> from wildvsr.train import load_config, train
>>> summary = train(load_config("configs/realbasicvsr_stage1.yaml", ["data.roots=[clips/]"]), "runs/stage1")
"""

from wildvsr.train.config import TrainConfig, apply_overrides, config_from_dict, load_config
from wildvsr.train.ema import ModelEMA
from wildvsr.train.export import export_checkpoint
from wildvsr.train.losses import CleaningLoss, GANLoss, PerceptualLoss, PixelLoss, charbonnier_loss, l1_loss
from wildvsr.train.run import train
from wildvsr.train.trainer import Trainer

__all__ = [
    "TrainConfig", "load_config", "config_from_dict", "apply_overrides", "ModelEMA", "export_checkpoint",
    "PixelLoss", "CleaningLoss", "GANLoss", "PerceptualLoss", "l1_loss", "charbonnier_loss", "Trainer", "train",
]
