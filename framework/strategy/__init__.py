"""framework.strategy"""
