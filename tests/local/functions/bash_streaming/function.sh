function handler () {
  # The event is {"go": "<path>"}: the first line, then the rest once that file exists.
  GO_FILE=$(echo "$1" | sed -E 's/.*"go": *"([^"]*)".*/\1/')
  echo "first line"
  while [ ! -e "$GO_FILE" ]; do sleep 0.02; done
  echo "second line"
}
