"""Gap analysis: coverage, capacity, shortfalls, the service index and siting."""

from .result import Analysis, AnalysisParams, analyze

__all__ = ["Analysis", "AnalysisParams", "analyze"]
