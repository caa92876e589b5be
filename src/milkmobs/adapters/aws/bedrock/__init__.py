"""TwelveLabs models on Amazon Bedrock: Pegasus 1.2 (insights) and Marengo (embeddings)."""

from milkmobs.adapters.aws.bedrock.analyzer import BedrockTwelveLabsAnalyzer
from milkmobs.adapters.aws.bedrock.config import BedrockAnalyzerConfig

__all__ = ["BedrockAnalyzerConfig", "BedrockTwelveLabsAnalyzer"]
