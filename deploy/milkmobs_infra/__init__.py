"""The CDK app that puts milkmobs on AWS: one construct per concern, wired by ``MilkMobsStack``."""
