"""Health codes (健康码): the colour a person shows at checkpoints, why, and until when."""
