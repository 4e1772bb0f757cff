"""Pure vision: frames in, detections out; video sampling; temporal aggregation into attire episodes."""
