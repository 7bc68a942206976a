"""Phrase pools the simulator composes customer text from: varied wording whose tone carries sentiment."""

from __future__ import annotations

TONES = ("positive", "neutral", "negative", "angry")

OPENERS: dict[str, tuple[str, ...]] = {
    "positive": (
        "Hi, thanks so much for the quick help.", "Hello! Really appreciate your support.",
        "Thank you, great service as always.", "Hi team, you have been wonderful.",
        "Thanks for getting back to me so fast.", "Lovely chatting with you earlier.",
        "Good morning, happy customer here.", "Hi, just wanted to say thanks.",
    ),
    "neutral": (
        "Hello, I have a question.", "Hi, writing about my account.", "Good afternoon.",
        "Hi there, following up.", "Hello, quick query.", "Hi, contacting you regarding an order.",
        "Dear support team,", "Hi, I need some information.",
    ),
    "negative": (
        "Hi, I am not happy about this.", "Hello, this is disappointing.", "I have a problem again.",
        "Unfortunately something went wrong.", "Hi, I am frustrated with this.",
        "This is the second time I have to write.", "Sadly this still does not work.",
        "Hello, I am annoyed.",
    ),
    "angry": (
        "This is absolutely ridiculous!", "I am furious, this is unacceptable.",
        "Worst service I have ever had.", "I am sick of chasing you about this!",
        "Terrible. Completely useless support.", "I hate how this has been handled.",
        "You people are a disgrace.", "Awful experience, I am livid.",
    ),
}

TOPICS: tuple[str, ...] = (
    "My invoice shows a charge I do not recognise.", "The parcel has not arrived yet.",
    "The product stopped working after a week.", "I cannot log in to my account.",
    "I would like a refund for my last order.", "The delivery came with a missing item.",
    "My subscription renewed at the wrong price.", "I need to change my delivery address.",
    "The app keeps crashing at checkout.", "My discount code was not applied.",
    "I was charged twice for the same order.", "The item I received is the wrong size.",
)

CLOSERS: dict[str, tuple[str, ...]] = {
    "positive": (
        "All sorted now, brilliant!", "Problem solved, thank you!", "Great job, very happy.",
        "Excellent, that was easy.", "Perfect, much appreciated.", "Wonderful, thanks again.",
    ),
    "neutral": (
        "Please let me know.", "Can you check?", "Waiting for your reply.", "Regards.",
        "Please advise.", "Let me know the next steps.",
    ),
    "negative": (
        "Still not fixed.", "Nobody has helped me so far.", "This is taking far too long.",
        "I expected better.", "I was transferred again with no answer.", "Very disappointing.",
    ),
    "angry": (
        "I want to cancel everything!", "I am leaving for a competitor.", "Fix this now or I quit.",
        "Never buying from you again!", "Cancel my account immediately.", "This is a scam, terrible!",
    ),
}
