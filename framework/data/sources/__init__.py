"""framework.data.sources"""
