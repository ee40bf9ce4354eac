"""One Dash page per module; may import api, components, figures, presenters, values, ids."""
