z = "\é" + 'ok'
open = "résumé
