"""Campaigns: prompt sets rated by several raters each, and how well the raters agree.

sources reads prompt files (JSON Lines, CSV, InstructLab qna.yaml, a taxonomy tree); store
makes, finds and closes campaigns; assignment hands items to raters, K per item; status and
agreement measure them. Generating an item's pair is the chat layer's
(app/chat/campaign_turns.py); the routes and the CLI sit above both.
"""
