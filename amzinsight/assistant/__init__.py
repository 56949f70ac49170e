"""The listing assistant's core: what the model sees about one ASIN (context), what may leave the
intranet (anonymise), the lookups the model may call (tools), the chat loop on any
OpenAI-compatible endpoint (chat), and the checks a proposal passes before anyone sees it
(proposal). No Streamlit here: the Assistant page only renders what these return.
"""
