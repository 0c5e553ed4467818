"""framework.ml"""
