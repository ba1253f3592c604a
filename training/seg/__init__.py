"""Stage 1: the multiparametric MobileNetV2 U-Net (model, data pipeline, training, evaluation)."""
