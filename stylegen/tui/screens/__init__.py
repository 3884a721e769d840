"""The app's screens: one per mode (Styles, Chat, Generate, Corpus, Train), and dialogs."""
