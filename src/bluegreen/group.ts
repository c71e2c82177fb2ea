// A release of several apps at once (promote APP APP…, abort APP APP…): light enough for argument parsing to load.

/** The most apps one group release takes (and its record holds). */
export const MAX_GROUP_APPS = 200;
