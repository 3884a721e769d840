"""Corpora: text gathered from sources, split into train and validation, with a manifest."""

from stylegen.corpus.build import Corpus, build_corpus, list_corpora, load_corpus, remove_corpus

__all__ = ["Corpus", "build_corpus", "list_corpora", "load_corpus", "remove_corpus"]
