"""TwelveLabs models on Amazon Bedrock: Pegasus 1.2 (insights) and Marengo (embeddings)."""

from milkmobs.adapters.aws.bedrock.analyzer import BedrockTwelveLabsAnalyzer
from milkmobs.adapters.aws.bedrock.config import BedrockAnalyzerConfig
from milkmobs.adapters.aws.bedrock.retry import RetryPolicy

__all__ = ["BedrockAnalyzerConfig", "BedrockTwelveLabsAnalyzer", "RetryPolicy"]
