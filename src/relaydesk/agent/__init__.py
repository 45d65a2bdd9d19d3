"""The AI agent: decides, for each visitor message while the AI owns a session, to answer, hand off or resolve."""
