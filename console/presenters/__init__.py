"""Pure: API replies to component values. May import api types, components, figures, values, ids."""
