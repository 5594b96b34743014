"""Figures from press-release text (format press-text-v1): decoding, periods, amounts, subjects, the extractor."""
