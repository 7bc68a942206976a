"""Point-in-time customer features (RFM, effort, resolution, sentiment, survey) as ibis expressions."""
