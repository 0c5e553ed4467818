"""framework.engine.vector"""
