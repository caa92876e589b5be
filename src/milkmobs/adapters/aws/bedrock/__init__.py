"""TwelveLabs models on Amazon Bedrock: Pegasus 1.2 (insights) and Marengo (embeddings)."""

from milkmobs.adapters.aws.bedrock.analyzer import BedrockAnalyzerConfig, BedrockTwelveLabsAnalyzer
from milkmobs.adapters.aws.bedrock.retry import RetryPolicy

__all__ = ["BedrockAnalyzerConfig", "BedrockTwelveLabsAnalyzer", "RetryPolicy"]
