"""Stage 2 fitting: radiomics feature tables, LASSO rad-score, fusion nomogram, evaluation."""
