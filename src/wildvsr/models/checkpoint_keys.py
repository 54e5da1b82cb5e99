"""Keys of a training checkpoint's network weights, named once and below both readers: the trainer writes them
(:mod:`wildvsr.train.checkpoint`), export and the start-weights loader read them, and the model loader
(:mod:`wildvsr.models.factory`) finds a training checkpoint's generator by them."""

GENERATOR_KEY = "model"  # net_g's raw weights
EMA_KEY = "ema"  # net_g's EMA weights (absent with train.ema_decay = 0)
DISCRIMINATOR_KEY = "discriminator"  # net_d (with GAN)
