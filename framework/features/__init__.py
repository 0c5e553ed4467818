"""framework.features"""
