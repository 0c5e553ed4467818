"""framework.analytics"""
