"""Road review in the window (issue 20): the candidate layer, the review tool, keys, the panel.

``controller.RoadReview`` binds the core (``roadseg_gui.core.review``) to the tile being edited;
``layer`` draws the candidates, ``tool`` turns clicks and drags into selections and bulk accepts,
``panel`` holds the confidence slider and the start-flow setting, ``keys`` the menu actions.
"""
