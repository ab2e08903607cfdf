"""Reading results folders: the HTML report, figures and the generated package documentation."""
